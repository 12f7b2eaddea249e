"""An OpenAI-shaped facade over any provider: code written for openai-python runs with one import changed.

    from chatgpt_sync import Client
    client = Client(base_url="http://localhost:11434/v1")
    answer = client.chat.completions.create(model="llama3", messages=[{"role": "user", "content": "Hi"}])
    print(answer.choices[0].message.content)

The client builds one provider instance and reuses it, so connections are pooled across calls. It is
as thread-safe as that provider instance (all providers may be shared between threads). A client
pickles, and works after ``fork``, as its provider does (settings travel, connections do not).
Errors are :mod:`chatgpt_sync.errors`, raised as the provider raises them.
"""

from __future__ import annotations

import copy
import json
import os
from itertools import chain
from types import TracebackType
from collections.abc import Mapping
from typing import Any, Generator, Iterable, Iterator, Literal, Union, overload

from ._client_types import (
    ChatCompletion, ChatCompletionChunk, ChatCompletionMessage, ChatCompletionMessageToolCall, Choice,
    ChoiceDelta, ChoiceDeltaToolCall, ChunkChoice, CompletionUsage, Details, ImagesResponse, Model,
    RawResponse, SyncPage,
)
from ._streaming import KeepsTranscript, require_unread
from ._transcript import Transcript
from .errors import InvalidRequestError, NotFoundError, ResponseError
from .providers import default_provider, get_provider
from .types import (
    ChoiceText, Chunk, Conversation, FinishReason, ImageResponse, LogProbs, Reasoning, Refusal, ResponseMeta,
    Timeout, ToolCalls, Usage,
)

__all__ = ["Client", "ChatCompletionStream", "ChatCompletion", "ChatCompletionChunk", "ImagesResponse",
           "SyncPage", "Model", "RawResponse"]


def _image_markdown(image: ImageResponse) -> str:
    # Chat answers are text: images become markdown, so printing the answer shows where they are.
    alt = (image.alt or "image").replace("\n", " ")
    return "\n".join(f"![{alt}]({url})" for url in image.urls)


def _logprobs(pieces: list[LogProbs]) -> Details | None:
    """One choice's log probabilities, joined across the pieces it came in."""
    if not pieces:
        return None
    content = [item for piece in pieces for item in piece.content or ()]
    refusal = [item for piece in pieces for item in piece.refusal or ()]
    return Details({"content": content if any(p.content is not None for p in pieces) else None,
                    "refusal": refusal if any(p.refusal is not None for p in pieces) else None})


# ------------------------------------------------------------------------------ non-streamed
class _ChoiceParts:
    """What one choice collected from the provider's pieces."""

    __slots__ = ("content", "reasoning", "refusal", "tool_calls", "finish_reason", "logprobs")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: list[ChatCompletionMessageToolCall] = []
        self.finish_reason: str | None = None
        self.logprobs: list[LogProbs] = []

    def choice(self, index: int) -> Choice:
        message = ChatCompletionMessage(
            content="".join(self.content) if self.content else None,
            refusal="".join(self.refusal) if self.refusal else None,
            tool_calls=self.tool_calls or None,
            reasoning_content="".join(self.reasoning) if self.reasoning else None,
        )
        return Choice(index, message, self.finish_reason, _logprobs(self.logprobs))


def _collect(pieces: Iterable[Chunk], requested_model: str) -> tuple[ChatCompletion, ResponseMeta]:
    """Gather a provider's whole answer into one ChatCompletion (every choice, for ``n > 1``).

    Identifiers are the server's (from :class:`ResponseMeta`); a backend that sends none leaves
    ``id`` and ``created`` None, and ``model`` is then the name the call asked for."""
    choices: dict[int, _ChoiceParts] = {0: _ChoiceParts()}
    usage: CompletionUsage | None = None
    conversation: Conversation | None = None
    meta = ResponseMeta()

    def parts(index: int) -> _ChoiceParts:
        found = choices.get(index)
        if found is None:
            found = choices[index] = _ChoiceParts()
        return found

    for piece in pieces:
        if isinstance(piece, str):
            choices[0].content.append(piece)
        elif isinstance(piece, ChoiceText):
            parts(piece.index).content.append(piece.text)
        elif isinstance(piece, FinishReason):
            parts(piece.index).finish_reason = piece.reason
        elif isinstance(piece, ToolCalls):
            parts(piece.index).tool_calls.extend(
                ChatCompletionMessageToolCall.from_dict(call) for call in piece.tool_calls)
        elif isinstance(piece, Reasoning):
            parts(piece.index).reasoning.append(piece.text)
        elif isinstance(piece, Refusal):
            parts(piece.index).refusal.append(piece.text)
        elif isinstance(piece, LogProbs):
            parts(piece.index).logprobs.append(piece)
        elif isinstance(piece, Usage):
            usage = CompletionUsage.from_usage(piece)
        elif isinstance(piece, ImageResponse):
            choices[0].content.append(_image_markdown(piece))
        elif isinstance(piece, Conversation):
            conversation = piece
        elif isinstance(piece, ResponseMeta):
            meta = piece
        # Titles and sources have no place in the OpenAI shape; the provider API has them.
    completion = ChatCompletion(meta.id, [choices[i].choice(i) for i in sorted(choices)], meta.created,
                                meta.model or requested_model, usage, conversation, meta.system_fingerprint,
                                meta.request_id)
    return completion, meta


# ------------------------------------------------------------------------------ streamed
class _StreamState:
    """What the chunk generator remembers beyond the hot loop.

    Kept apart from :class:`ChatCompletionStream` so the generator's frame never refers to the
    stream: an abandoned stream is then freed (and its connection released) at once, not by the
    cycle collector."""

    __slots__ = ("id", "model", "created", "fingerprint", "conversation", "started", "emit_usage", "meta")

    def __init__(self, model: str, emit_usage: bool) -> None:
        self.id: str | None = None
        self.model: str | None = model
        self.created: int | None = None
        self.fingerprint: str | None = None
        self.conversation: Conversation | None = None
        self.started: set[int] = set()  # choices other than 0 whose first delta went out
        self.emit_usage = emit_usage
        self.meta: ResponseMeta | None = None

    def take_meta(self, meta: ResponseMeta) -> None:
        self.meta = meta
        self.id, self.created, self.fingerprint = meta.id, meta.created, meta.system_fingerprint
        self.model = meta.model or self.model

    def chunk(self, choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(self.id, choices, self.created, self.model, usage, self.fingerprint)

    def chunk_for(self, piece: Any, first: bool) -> ChatCompletionChunk | None:
        """The chunk for a piece other than choice 0's text, or None when it has no chunk form."""
        if isinstance(piece, Usage):
            # Only when the caller asked (stream_options.include_usage), as the API does: a usage-only
            # chunk has no choices, and loops that read chunk.choices[0] must not meet one unasked.
            return self.chunk([], CompletionUsage.from_usage(piece)) if self.emit_usage else None
        if isinstance(piece, Conversation):
            self.conversation = piece
            return None
        if isinstance(piece, ResponseMeta):
            self.take_meta(piece)
            return None
        index = getattr(piece, "index", 0)
        if index == 0:
            role = "assistant" if first else None
        else:
            role = None if index in self.started else "assistant"
            self.started.add(index)
        reason = None
        logprobs = None
        if isinstance(piece, FinishReason):
            if piece.reason is None:
                return None  # the backend never said the turn finished; OpenAI would send nothing
            delta, reason = ChoiceDelta(role=role), piece.reason
        elif isinstance(piece, ChoiceText):
            delta = ChoiceDelta(piece.text, role)
        elif isinstance(piece, Reasoning):
            delta = ChoiceDelta(role=role, reasoning_content=piece.text)
        elif isinstance(piece, Refusal):
            delta = ChoiceDelta(role=role, refusal=piece.text)
        elif isinstance(piece, ToolCalls):
            delta = ChoiceDelta(role=role, tool_calls=ChoiceDeltaToolCall.from_calls(piece.tool_calls))
        elif isinstance(piece, ImageResponse):
            delta = ChoiceDelta(_image_markdown(piece), role)
        elif isinstance(piece, LogProbs):
            delta, logprobs = ChoiceDelta(role=role), _logprobs([piece])
        else:
            return None  # titles, sources: not part of the OpenAI chunk shape
        return self.chunk([ChunkChoice(index, delta, reason, logprobs)])


def _chunks(source: Iterator[Chunk], head: list[Chunk],
            state: _StreamState) -> Generator[ChatCompletionChunk, None, None]:
    cid, created, model, fingerprint = state.id, state.created, state.model, state.fingerprint
    chunk, choice, delta = ChatCompletionChunk, ChunkChoice, ChoiceDelta
    first = True  # the first delta of choice 0 carries role="assistant", as OpenAI's does
    try:
        for piece in chain(head, source) if head else source:
            # The hot path: one text piece of choice 0 -> one chunk of three small objects.
            if piece.__class__ is str:
                if first:
                    first = False
                    yield chunk(cid, [choice(0, delta(piece, "assistant"))], created, model, None, fingerprint)
                else:
                    yield chunk(cid, [choice(0, delta(piece))], created, model, None, fingerprint)
                continue
            event = state.chunk_for(piece, first)
            if piece.__class__ is ResponseMeta:
                cid, created, model, fingerprint = state.id, state.created, state.model, state.fingerprint
            if event is not None:
                if event.choices and event.choices[0].index == 0:
                    first = False
                yield event
    finally:
        _close(source)


def _close(source: Iterator[Chunk]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


class ChatCompletionStream(KeepsTranscript, Iterator[ChatCompletionChunk]):
    """The chunks of a streamed answer; also a context manager. ``close()`` releases the connection.

    ``id``, ``model``, ``created`` and ``response`` (status and headers) are the server's, known
    once ``create()`` returns. ``conversation`` is set once a provider with conversations (ChatGPT
    web) has sent one."""

    __slots__ = ("_source", "_state", "_gen", "_seen")

    def __init__(self, source: Iterator[Chunk], model: str, emit_usage: bool = False) -> None:
        # Like openai-python, send the request now, so that a refused one (401, 404, 429...) raises
        # from create() rather than from the first iteration. The pieces read are kept for the loop;
        # the server's identifiers come first, so reading up to them sets id, model and created.
        self._state = _StreamState(model, emit_usage)
        head: list[Chunk] = []
        try:
            for piece in source:
                if isinstance(piece, ResponseMeta):
                    self._state.take_meta(piece)
                else:
                    head.append(piece)
                break
        except BaseException:
            _close(source)
            raise
        self._source = source
        self._gen = _chunks(source, head, self._state)
        self._seen: Transcript | None = None

    @property
    def id(self) -> str | None:
        return self._state.id

    @property
    def model(self) -> str | None:
        return self._state.model

    @property
    def created(self) -> int | None:
        return self._state.created

    @property
    def response(self) -> RawResponse:
        """The HTTP answer's status and headers (openai-python's ``stream.response``)."""
        return RawResponse.from_meta(self._state.meta)

    @property
    def conversation(self) -> Conversation | None:
        return self._state.conversation

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self._gen  # no per-chunk wrapper call

    def __next__(self) -> ChatCompletionChunk:
        return next(self._gen)

    def close(self) -> None:
        """Stop the stream and release its connection. Idempotent."""
        self._gen.close()
        _close(self._source)  # the generator's finally does this too, but only if it had started

    def __enter__(self) -> ChatCompletionStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChatCompletionStream(id={self.id!r}, model={self.model!r})"

    # ------------------------------------------------------------------ notebooks
    def display(self, *, interval: float = 0.1) -> str:
        """Show the answer as it streams and return its text, as :meth:`chatgpt_sync.Stream.display`
        does (live Markdown in a notebook, printed elsewhere); what arrived stays in ``partial_text``."""
        from .notebook import show_stream

        require_unread(self._gen, self._seen, "display")
        seen = self._seen = self._seen or Transcript()
        try:
            return show_stream(self._gen, seen, Transcript.add_chunk, self.close, interval)
        finally:
            seen.conversation = self._state.conversation  # known once the stream has sent it

    def _unread_markdown(self) -> str:
        from ._html import html_escape  # the server's words: never markup

        return (f"*ChatCompletionStream {html_escape(str(self.id))} ({html_escape(str(self.model))}): "
                "`.display()` shows the answer as it streams*")


# ------------------------------------------------------------------------------ the client
class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def with_raw_response(self) -> _RawCompletions:
        """``create()`` returning the raw answer: ``.headers``, ``.status_code``, ``.parse()``."""
        return _RawCompletions(self)

    @overload
    def create(self, *, model: str, messages: Any, stream: Literal[False] = False,
               **params: Any) -> ChatCompletion: ...
    @overload
    def create(self, *, model: str, messages: Any, stream: Literal[True], **params: Any) -> ChatCompletionStream: ...
    @overload
    def create(self, *, model: str, messages: Any, stream: bool,
               **params: Any) -> Union[ChatCompletion, ChatCompletionStream]: ...

    def create(self, *, model: str, messages: Any, stream: bool = False,
               **params: Any) -> Union[ChatCompletion, ChatCompletionStream]:
        """Create a chat completion: a ChatCompletion, or with ``stream=True`` a ChatCompletionStream."""
        return self._create(model, messages, bool(stream), params)[0]

    def _create(self, model: str, messages: Any, stream: bool,
                params: Mapping[str, Any]) -> tuple[Union[ChatCompletion, ChatCompletionStream], RawResponse]:
        client = self._client
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(f"model must be a non-empty string, not {model!r}")
        kwargs = client._call_kwargs(params)
        if "stream_options" in kwargs and "stream_options" not in getattr(client.provider, "call_params", ()):
            del kwargs["stream_options"]  # the Client's own switch for the usage chunk, for any provider
        pieces = client.provider.create_completion(model, messages, stream=stream, **kwargs)
        if stream:
            options = params.get("stream_options")
            wants_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
            chunks = ChatCompletionStream(pieces, model, wants_usage)
            return chunks, chunks.response
        try:
            completion, meta = _collect(pieces, model)
        finally:
            pieces.close()
        return completion, RawResponse.from_meta(meta)

    def parse(self, *, model: str, messages: Any, response_format: Any = None, **params: Any) -> ChatCompletion:
        """Structured output, as openai-python's ``parse()``: ``response_format`` may be a pydantic
        model class; each choice's ``message.parsed`` is then an instance of it (None for a refusal).

        pydantic is imported only here, and only when a model class is given."""
        model_class = None
        if isinstance(response_format, type):
            model_class = response_format
            response_format = _structured_format(model_class)
        if response_format is not None:
            params["response_format"] = response_format
        completion: ChatCompletion = self.create(model=model, messages=messages, stream=False, **params)
        for choice in completion.choices:
            content = choice.message.content
            if content is None or choice.message.refusal:
                continue
            if model_class is not None:
                choice.message.parsed = model_class.model_validate_json(content)  # type: ignore[attr-defined]
            elif isinstance(response_format, Mapping) and response_format.get("type") in ("json_schema", "json_object"):
                choice.message.parsed = json.loads(content)
        return completion


class _RawCompletions:
    """``client.chat.completions.with_raw_response``."""

    def __init__(self, completions: Completions) -> None:
        self._completions = completions

    def create(self, *, model: str, messages: Any, stream: bool = False, **params: Any) -> RawResponse:
        result, raw = self._completions._create(model, messages, bool(stream), params)
        raw.parsed = result
        return raw


def _structured_format(model_class: type) -> dict[str, Any]:
    """The ``json_schema`` response format for a pydantic model, strict as the API wants it."""
    schema_of = getattr(model_class, "model_json_schema", None)
    if schema_of is None:
        raise InvalidRequestError(
            f"response_format={model_class.__name__} is not a pydantic model (it has no model_json_schema())")
    schema = _strict(schema_of())
    return {"type": "json_schema", "json_schema": {"name": model_class.__name__, "schema": schema, "strict": True}}


def _strict(schema: Any) -> Any:
    """The API's strict mode: every object closes its properties and requires them all."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
            schema["additionalProperties"] = False
            schema["required"] = list(schema["properties"])
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


class Chat:
    """``client.chat``."""

    def __init__(self, client: Client) -> None:
        self.completions = Completions(client)


class Beta:
    """``client.beta``: where openai-python first put ``chat.completions.parse``."""

    def __init__(self, client: Client) -> None:
        self.chat = Chat(client)


class Models:
    """``client.models``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, **settings: Any) -> SyncPage:
        """The provider's models, in the server's order with the server's fields where it lists them
        (``list_models()``), else its ``get_models()`` or built-in names."""
        client = self._client
        provider = client.provider
        list_models = getattr(provider, "list_models", None)
        if list_models is not None:
            return SyncPage([Model.from_dict(entry) for entry in list_models(**client._call_kwargs(settings))])
        get_models = getattr(provider, "get_models", None)
        if get_models is not None:
            ids = get_models(**client._call_kwargs(settings))
        else:
            ids = list(getattr(provider, "models", []))
        return SyncPage([Model(model_id) for model_id in ids])

    def retrieve(self, model: str, **settings: Any) -> Model:
        """One model by id (``GET /models/{id}`` where the provider has it); NotFoundError if unknown."""
        client = self._client
        retrieve = getattr(client.provider, "retrieve_model", None)
        if retrieve is not None:
            return Model.from_dict(retrieve(model, **client._call_kwargs(settings)))
        for entry in self.list(**settings):
            if entry.id == model:
                return entry
        raise NotFoundError(f"{type(client.provider).__name__} has no model {model!r}", status_code=404,
                            body={"error": {"message": f"The model {model!r} does not exist",
                                            "code": "model_not_found"}})


class Images:
    """``client.images``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def generate(self, *, prompt: str, model: str | None = None, n: int | None = None, size: str | None = None,
                 response_format: str | None = None, **params: Any) -> ImagesResponse:
        """Generate images through the provider's image model; ``response_format`` is "url" or "b64_json"."""
        client = self._client
        provider = client.provider
        if not model:
            image_models = getattr(provider, "image_models", None) or [""]
            model = image_models[0]
        options = {"n": n, "size": size, "response_format": response_format}
        kwargs = client._call_kwargs({**{k: v for k, v in options.items() if v is not None}, **params})
        if "prompt" in getattr(provider, "call_params", ()):
            kwargs["prompt"] = prompt  # the user message carries it too, for providers without prompt=
        pieces = provider.create_completion(model, [{"role": "user", "content": prompt}], stream=False,
                                            **kwargs)
        try:
            images = [piece for piece in pieces if isinstance(piece, ImageResponse)]
        finally:
            pieces.close()
        if not images:
            raise ResponseError(f"{type(provider).__name__} returned no images for model {model!r}")
        return ImagesResponse.from_images(images, response_format)


# openai.OpenAI's options that map onto provider settings, and those a Client view may override.
_NAMESPACES = frozenset({"chat", "models", "images", "beta"})  # rebuilt by Client._wire
_OPTION_NAMES = ("api_key", "base_url", "timeout", "max_retries", "default_headers", "organization", "project")


class Client:
    """``Client(provider, *, api_key=None, base_url=None, **settings)``: openai-python's call shape.

    ``provider`` is a provider class, instance or registry name. Without one: ``OpenaiTemplate`` when
    ``base_url`` is given, else ``OpenaiAPI`` (api.openai.com, ``OPENAI_API_KEY``), like
    ``openai.OpenAI()``; either way the key defaults to ``OPENAI_API_KEY``, as openai-python's does.
    ``settings`` are the provider's (``timeout``, ``max_retries``, ``proxy``, ``headers``...);
    openai-python's ``default_headers``, ``organization`` and ``project`` are accepted.
    A class or name is instantiated once here; an instance is used as given, with the settings
    applied to each call. ``close()`` closes the instance the client created.
    """

    def __init__(self, provider: Any = None, *, api_key: str | None = None, base_url: str | None = None,
                 **settings: Any) -> None:
        settings = _openai_settings(settings)
        if base_url is not None:
            settings["base_url"] = base_url
        if provider is None:
            # openai.OpenAI() talks to api.openai.com unless given a base_url: so does this.
            provider = default_provider({**settings, "api_key": None}, env={}) or "OpenaiAPI"
            if api_key is None:
                api_key = os.environ.get("OPENAI_API_KEY") or None  # what openai.OpenAI() sends
        if api_key is not None:
            settings["api_key"] = api_key
        found = get_provider(provider)
        self._owns_provider = isinstance(found, type)
        if self._owns_provider:
            self.provider: Any = found(**settings)
            self._call_settings: dict[str, Any] = {}
        else:
            self.provider = found
            self._call_settings = settings
        self._wire()

    def __getstate__(self) -> dict[str, Any]:
        """The provider (with its settings, credentials included, and without its connections) and
        this client's per-call settings travel; the ``chat``/``models``... namespaces are rebuilt."""
        return {k: v for k, v in self.__dict__.items() if k not in _NAMESPACES}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._wire()

    def _wire(self) -> None:
        self.chat = Chat(self)
        self.models = Models(self)
        self.images = Images(self)
        self.beta = Beta(self)

    def with_options(self, **options: Any) -> Client:
        """A client with some settings changed for its calls (``timeout``, ``max_retries``,
        ``api_key``, ``base_url``, ``default_headers``...), sharing this one's connections."""
        settings = _openai_settings(options)
        check = getattr(self.provider, "settings_for_call", None)
        if check is not None:
            # A typo fails here, as openai-python's with_options does, not on the first call.
            self.provider._check_names(settings, self.provider.setting_names(), "option")
            check(settings)
        view = copy.copy(self)
        view._owns_provider = False  # closing a view must not close the shared provider
        view._call_settings = {**self._call_settings, **settings}
        view._wire()
        return view

    copy = with_options  # openai-python's other name for it

    def _setting(self, name: str) -> Any:
        if name in self._call_settings:
            return self._call_settings[name]
        settings = getattr(self.provider, "_base", None)
        return getattr(settings, name, None)

    @property
    def api_key(self) -> str | None:
        value = self._setting("api_key")
        if value is None:
            resolve = getattr(self.provider, "resolve_api_key", None)
            settings = getattr(self.provider, "_base", None)
            if resolve is not None and settings is not None:
                value = resolve(settings)
        return value  # type: ignore[no-any-return]

    @property
    def base_url(self) -> str | None:
        return self._setting("base_url")  # type: ignore[no-any-return]

    @property
    def timeout(self) -> Any:
        value = self._setting("timeout")
        return Timeout.coerce(value) if value is not None and not isinstance(value, Timeout) else value

    @property
    def max_retries(self) -> int | None:
        return self._setting("max_retries")  # type: ignore[no-any-return]

    def _call_kwargs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The provider keywords for one call: openai-python's names mapped, client settings first."""
        kwargs = dict(self._call_settings)
        for name, value in params.items():
            if name == "extra_headers":
                if value:
                    headers = dict(kwargs.get("headers") or {})
                    headers.update(value)
                    kwargs["headers"] = headers
                continue
            if name in ("extra_body", "extra_query") and value is None:
                continue
            kwargs[name] = value  # extra_body, extra_query and timeout keep their names
        return kwargs

    def close(self) -> None:
        """Close the connections of the provider instance this client created."""
        if self._owns_provider:
            self.provider.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(provider={self.provider!r})"


def _openai_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Map openai.OpenAI's constructor keywords onto provider settings."""
    settings = dict(settings)
    headers = dict(settings.pop("default_headers", None) or {})
    organization = settings.pop("organization", None)
    project = settings.pop("project", None)
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    if headers:
        settings["headers"] = {**headers, **(settings.get("headers") or {})}
    return settings
